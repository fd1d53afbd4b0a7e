"""Sources: where articles come from (files, web pages, feeds), read into ``Article`` records."""
