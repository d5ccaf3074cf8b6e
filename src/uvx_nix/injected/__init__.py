"""injected"""
