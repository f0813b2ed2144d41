"""The learning network itself: people, sites, access, outcomes, sessions. Never imports Flask."""
