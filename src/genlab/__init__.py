"""genlab: small generative models (2-D diffusion, a GPT on Alice) measured against known truths.

`common` holds what every stage shares (errors, file I/O, the command line, plotting);
`diffusion` and `gpt` are the two model families and never import each other; `config`
assembles every params section into one validated object; `report` writes the index page.
"""
