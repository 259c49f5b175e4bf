-- Small values remembered across restarts outside requests and the audit log (issue 12: the
-- burn alerts already posted, the last state seen of each watched stock).
CREATE TABLE marks (
    key   text PRIMARY KEY,
    value text NOT NULL
);
