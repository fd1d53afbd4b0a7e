"""Check: deliverability and accessibility findings on a build and the campaign made from it."""
