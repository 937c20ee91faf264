-- The mesh's tables. Applied once by lib/storage/migrate.ts, inside a transaction.

-- The inventory the join stage looks up (seeded by tools/seed.ts).
CREATE TABLE IF NOT EXISTS products (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  category    text NOT NULL,
  price_cents bigint NOT NULL CHECK (price_cents >= 0)
);

-- One row per accepted event, written by the sink; the event id makes replays idempotent.
CREATE TABLE IF NOT EXISTS events (
  id               text PRIMARY KEY,
  user_id          text NOT NULL,
  item_id          text NOT NULL,
  kind             text NOT NULL,
  event_time       timestamptz NOT NULL,
  price_cents      bigint NOT NULL,
  accepted_at      timestamptz NOT NULL,
  committed_at     timestamptz NOT NULL DEFAULT now(),
  profile_found    boolean NOT NULL,
  profile_degraded boolean NOT NULL,
  user_segment     text,
  user_country     text,
  product_name     text NOT NULL,
  product_category text NOT NULL,
  list_price_cents bigint NOT NULL
);

-- Hot items: events per item per minute, counted only for rows the sink really inserted.
CREATE TABLE IF NOT EXISTS item_minute (
  item_id text NOT NULL,
  minute  timestamptz NOT NULL,
  count   bigint NOT NULL,
  PRIMARY KEY (item_id, minute)
);

-- Serves "top items of a minute" without sorting the minute's rows.
CREATE INDEX IF NOT EXISTS item_minute_top ON item_minute (minute, count DESC);

-- Events a stage gave up on, at most once per stage and event.
CREATE TABLE IF NOT EXISTS dead_letters (
  id         bigserial PRIMARY KEY,
  event_id   text NOT NULL,
  stage      text NOT NULL,
  reason     text NOT NULL,
  payload    jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stage, event_id)
);
