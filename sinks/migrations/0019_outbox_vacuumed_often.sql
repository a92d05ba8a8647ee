-- The outbox vacuumed as the queue it is (issue 8: flat as history grows).
--
-- Every batch adds its outgoing messages to the outbox and the relay deletes them once
-- Kafka has them: about 2,200 rows a second in a drain, none of them live for long. The
-- relay's check for older waiting rows (`SELECT min(id) FROM outbox`) walks the primary
-- key from its low end over every row deleted since the table was last vacuumed. With the
-- defaults a vacuum came once a minute at best and later as the history grew (the
-- autovacuum worker was busy with the large tables): up to 186,000 dead rows in a
-- 300,000-event drain, and that check took 8 µs per event late in a drain of 600,000,
-- against under 4 early. Vacuum it whenever 10,000 rows were deleted, unthrottled (it is
-- small); `deploy/postgres.py` also lets the autovacuum launcher look every 10 s.

ALTER TABLE outbox SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 10000,
    autovacuum_vacuum_cost_delay = 0
);
