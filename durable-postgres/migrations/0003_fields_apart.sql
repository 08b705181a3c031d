-- An instance's input, output, buffered events and custom status in columns of their
-- own, each written when a step changes it; `record` then holds the rest (its head).
-- Rows written before keep their whole record in `record` (`apart` false) until a step
-- writes them again. `started`: the instance has a checkpoint, so a step does not read
-- its input.
ALTER TABLE durable_instances
    ADD COLUMN apart boolean NOT NULL DEFAULT false,
    ADD COLUMN started boolean NOT NULL DEFAULT true,
    ADD COLUMN input bytea,
    ADD COLUMN output bytea,
    ADD COLUMN events bytea,
    ADD COLUMN custom_status bytea;
