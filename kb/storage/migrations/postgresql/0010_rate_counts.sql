-- Shared rate limits at any rate: kb_rate_hit kept its exact sliding window, but counted a key's
-- events with count(*) on every hit, which costs as many rows as the key has events in its
-- window (a busy client address, a high limit: thousands per hit, under the key's lock). A
-- count per key, kept by the function under the same lock, makes a hit cost the events it drops
-- plus one index lookup. SQLite's 0010 changes nothing (its rate limits are in memory).
CREATE TABLE rate_counts (
    key TEXT PRIMARY KEY,
    hits INTEGER NOT NULL
);
INSERT INTO rate_counts (key, hits) SELECT key, count(*) FROM rate_events GROUP BY key;

CREATE OR REPLACE FUNCTION kb_rate_hit(keys text[], max_hits integer, window_seconds double precision)
RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    now_s double precision := extract(epoch FROM clock_timestamp());
    k text;
    dropped integer;
    current_hits integer;
    oldest double precision;
    wait double precision := 0;
BEGIN
    FOR k IN SELECT DISTINCT x FROM unnest(keys) AS x ORDER BY x LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(k, 0));
        WITH gone AS (DELETE FROM rate_events WHERE key = k AND at <= now_s - window_seconds RETURNING 1)
        SELECT count(*) INTO dropped FROM gone;
        IF dropped > 0 THEN
            UPDATE rate_counts SET hits = rate_counts.hits - dropped WHERE key = k RETURNING rate_counts.hits INTO current_hits;
        ELSE
            SELECT rate_counts.hits INTO current_hits FROM rate_counts WHERE key = k;
        END IF;
        IF COALESCE(current_hits, 0) >= max_hits THEN
            SELECT min(at) INTO oldest FROM rate_events WHERE key = k;
            wait := GREATEST(wait, oldest + window_seconds - now_s);
        END IF;
    END LOOP;
    IF wait > 0 THEN
        RETURN wait;
    END IF;
    INSERT INTO rate_events (key, at, expires) SELECT DISTINCT x, now_s, now_s + window_seconds FROM unnest(keys) AS x;
    INSERT INTO rate_counts AS c (key, hits) SELECT DISTINCT x, 1 FROM unnest(keys) AS x
    ON CONFLICT (key) DO UPDATE SET hits = c.hits + 1;
    IF random() < 0.001 THEN  -- keys that never came back (row locks keep their counts exact)
        WITH gone AS (DELETE FROM rate_events WHERE expires < now_s RETURNING key),
             counted AS (SELECT key, count(*) AS n FROM gone GROUP BY key)
        UPDATE rate_counts AS c SET hits = c.hits - counted.n FROM counted WHERE c.key = counted.key;
        DELETE FROM rate_counts WHERE rate_counts.hits <= 0;
    END IF;
    RETURN 0;
END
$$;
