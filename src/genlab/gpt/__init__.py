"""A small GPT on "Alice's Adventures in Wonderland": corpus, tokenizer, model, training,
analysis and figures (maths in docs/gpt.md)."""
