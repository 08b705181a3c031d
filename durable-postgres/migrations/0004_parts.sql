-- Parts of an instance's state kept beside its checkpoints: the items of a loop over
-- an owned collection, each written once when the loop first suspends and read by the
-- step that takes it, so that a checkpoint does not carry the items still to come.
-- Written and deleted with the steps, purged with the instance.
CREATE TABLE durable_parts (
    instance text COLLATE "C" NOT NULL,
    part bigint NOT NULL,
    bytes bytea NOT NULL,
    PRIMARY KEY (instance, part)
);
