"""Commitments: action plans, commitments, milestones and their public history."""
