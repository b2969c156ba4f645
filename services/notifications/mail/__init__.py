"""What an email says and how it leaves: the kinds, their rendering, MIME, the .ics, SMTP."""
