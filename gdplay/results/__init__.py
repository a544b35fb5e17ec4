"""The result model: what runs did, as data, with its one JSON serializer and CSV writer."""
