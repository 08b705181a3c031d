-- Version 1: instances, their inboxes, activity calls and timers.
--
-- Times are milliseconds since the Unix epoch. Leases are read against the database's
-- clock (durable_now), so that workers on machines whose clocks differ agree on them.

CREATE FUNCTION durable_now() RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT (extract(epoch FROM now()) * 1000)::bigint $$;

CREATE SEQUENCE durable_lease_tokens;

CREATE TABLE durable_instances (
    -- byte order ("C"), so that an instance's descendants (`id:...`) are one range
    id text COLLATE "C" PRIMARY KEY,
    name text NOT NULL,
    version integer NOT NULL,
    status smallint NOT NULL,
    created bigint NOT NULL,
    -- when it ended, while it is completed, failed or terminated: what retention reads
    ended bigint,
    -- the encoded InstanceRecord (checkpoint included)
    record bytea NOT NULL,
    -- why it cannot be stepped as stored (its record or a message cannot be decoded)
    quarantine text,
    lease_token bigint,
    -- until when it is claimed; otherwise when it was created or last released: claims
    -- take the instance that has waited longest first, so that new instances do not
    -- hold back the steps of those already running
    lease_expires bigint NOT NULL,
    -- what is queued for it, counted by kind, and what its checkpoint waits for: the
    -- fewest results that can make it runnable (2147483647: only a command can)
    pending boolean NOT NULL DEFAULT false,
    needed integer NOT NULL DEFAULT 1,
    q_total integer NOT NULL DEFAULT 0,
    q_results integer NOT NULL DEFAULT 0,
    q_events integer NOT NULL DEFAULT 0,
    q_commands integer NOT NULL DEFAULT 0,
    -- events buffered in the record: with q_events, what bounds an instance's events
    buffered_events integer NOT NULL DEFAULT 0,
    ready boolean GENERATED ALWAYS AS (
        pending AND quarantine IS NULL AND q_total > 0 AND (
            q_commands > 0
            OR (needed < 2147483647 AND (q_total > q_results OR q_results >= needed))
        )
    ) STORED
);

CREATE INDEX durable_instances_status ON durable_instances (status, id);
CREATE INDEX durable_instances_name ON durable_instances (name, id);
CREATE INDEX durable_instances_ended ON durable_instances (ended, id) WHERE ended IS NOT NULL;
CREATE INDEX durable_instances_ready ON durable_instances (lease_expires, id) WHERE ready;

CREATE TABLE durable_inbox (
    instance text COLLATE "C" NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    -- 0 result, 1 event, 2 command, 3 start
    kind smallint NOT NULL,
    message bytea NOT NULL,
    PRIMARY KEY (instance, seq)
);

CREATE TABLE durable_activities (
    instance text COLLATE "C" NOT NULL,
    task bigint NOT NULL,
    -- when it may be claimed: its attempt's not-before time, or while claimed the
    -- lease's expiry
    due bigint NOT NULL,
    lease_token bigint,
    -- the encoded ActivityTask
    body bytea NOT NULL,
    PRIMARY KEY (instance, task)
);

CREATE INDEX durable_activities_due ON durable_activities (due);

CREATE TABLE durable_timers (
    instance text COLLATE "C" NOT NULL,
    task bigint NOT NULL,
    due bigint NOT NULL,
    PRIMARY KEY (instance, task)
);

CREATE INDEX durable_timers_due ON durable_timers (due);

-- Raises DU001 unless `updated` is 1: the write of a step's record found the step's
-- claim on `instance` still held. The error rolls the step's transaction back.
CREATE FUNCTION durable_claim_held(updated bigint, instance text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF updated <> 1 THEN
        RAISE EXCEPTION 'the claim on instance % was lost', instance USING ERRCODE = 'DU001';
    END IF;
    RETURN true;
END
$$;
