"""Intent classification: `classifier` (offline, no network) and `analysis` (asks the model, validated).

Empty on purpose: the local provider imports `classifier`, and `analysis` imports the router, which imports
the local provider; importing either here would join them into an import cycle.
"""
