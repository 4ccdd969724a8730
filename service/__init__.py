"""The Flask application: app factory, LMS API, service layer and CLI."""
