"""One module per registered platform, each exporting ``CASE: ContractCase`` (see ``../case.py``).
The contract suite fails for a registered adapter that has no module here."""
