"""The demo data set and its command (`manage.py load_demo`, run by bin/demo); never installed in production."""
