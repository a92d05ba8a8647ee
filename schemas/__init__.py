"""The contracts every other part imports: Avro schemas, events, topics, reference data."""
