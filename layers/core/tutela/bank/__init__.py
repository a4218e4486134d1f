"""Known-content matching: PDQ hashes of media and banks of hashes to match them against.

Hash lists are exchanged as 64 lowercase hex digits of PDQ's 256-bit vector, first bit most
significant (python-threatexchange's format), so imported lists and our own hashes compare directly.
Matching is by Hamming distance; PDQ's standard match threshold is 31 and a hash whose quality is
below 50 (near-uniform images) is too unreliable to match at all.
"""

from tutela.bank.model import Bank, BankEntry, BankMatch, MatchPolicy

__all__ = ["Bank", "BankEntry", "BankMatch", "MatchPolicy"]
