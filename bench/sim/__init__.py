"""A seeded discrete-event simulator of support days, used to measure the wait-time estimator."""
