"""Indexing: load documents, chunk them, embed the chunks and store them in a FAISS index.

Heavy libraries (torch, sentence-transformers, faiss, llama-index) are imported only when used.
"""
