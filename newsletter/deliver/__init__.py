"""Deliver: a build becomes a campaign, sent to an audience through a provider, with a send log."""
