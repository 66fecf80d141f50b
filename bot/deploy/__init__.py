"""Deployment helpers: the nginx load balancer in front of several Rasa replicas."""
