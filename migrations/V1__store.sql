-- budget-bot's shared store: change requests, the card index, the hash-chained audit log and
-- work leases. Each request is kept whole as its JSON document (fields added to a request
-- need no schema change) beside the columns that indexes and checks need.

-- Wall-clock milliseconds of the database server: leases are compared by one clock, the
-- server's, whatever the clocks of the instances sharing it say.
CREATE FUNCTION budget_bot_now_ms() RETURNS bigint
    LANGUAGE sql VOLATILE
    AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;

CREATE TABLE requests (
    id          text    PRIMARY KEY,
    state       text    NOT NULL,
    stock_id    text    NOT NULL,
    created_at  bigint  NOT NULL,
    -- Not in a terminal state.
    open        boolean NOT NULL,
    -- The audit entry that created it: `last` is the request created most recently.
    created_seq bigint  NOT NULL UNIQUE,
    doc         json    NOT NULL
);
CREATE INDEX requests_open ON requests (created_at, id) WHERE open;
CREATE INDEX requests_by_creation ON requests (created_at, id);

CREATE TABLE audit (
    seq        bigint PRIMARY KEY,
    stock_id   text   NOT NULL,
    request_id text   NOT NULL,
    -- The entry as serialized; its hash is recomputed from its fields when verified.
    entry      json   NOT NULL
);
CREATE INDEX audit_by_stock ON audit (stock_id, seq);

-- The chain's head: one row, locked by every append, so two writers append one after the
-- other and the chain stays one line. seq 0: no entry yet.
CREATE TABLE audit_head (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    seq      bigint  NOT NULL,
    hash     text    NOT NULL
);
INSERT INTO audit_head (seq, hash)
    VALUES (0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE cards (
    platform   text NOT NULL,
    channel    text NOT NULL,
    message    text NOT NULL,
    request_id text NOT NULL,
    PRIMARY KEY (platform, channel, message)
);

CREATE TABLE leases (
    id            text   PRIMARY KEY,
    holder        text   NOT NULL,
    expires_at_ms bigint NOT NULL
);
