-- Listing a creation-time window reads the window, not every instance.
CREATE INDEX durable_instances_created ON durable_instances (created, id);
