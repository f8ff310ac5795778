"""GenAI providers: echo (built in), OpenAI-compatible endpoints, the asynchronous GenAI API."""
