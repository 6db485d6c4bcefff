"""DIMSE (PS3.7): the 12 primitives, their command sets, validity and status codes."""
