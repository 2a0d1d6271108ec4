//! OpenAI files and batches through the gateway.
