"""Eligibility: the 270 model, business rules, the beneficiary store and the 271."""
