# Extra hub configuration goes in the file HUB_EXTRA_CONFIG names; this one is empty.
