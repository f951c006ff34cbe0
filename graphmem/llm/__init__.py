"""LLM room: OpenAI-compatible client, prompts, response cache, JSON repair."""
