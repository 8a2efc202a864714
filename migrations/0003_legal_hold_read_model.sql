-- Hand-written: legal-hold read model, triggers and indexes.

-- Case-insensitive lookups of a custodian's messages: Zoom's emails are not guaranteed lower-case.
CREATE INDEX message_versions_sender_lower ON archive.message_versions (lower(sender), session_id);
--> statement-breakpoint
CREATE INDEX message_versions_receiver_lower ON archive.message_versions (lower(receiver), session_id);
--> statement-breakpoint

-- held_messages: every archived message version covered by a matter that still holds — one row per
-- (matter, custodian, version). A custodian covers a session when they sent or received a message
-- in it, or are listed among its members (Zoom lists members for 1:1 chats only, so for group chats
-- and channels participation is what the archive can know). A version is covered when its message
-- was sent inside the matter's dates (UTC days, both inclusive; no end date = open-ended; no start
-- date = the matter's creation date, as Zoom does). Matters deleted in Zoom keep holding (what was
-- held stays held); only a matter deleted through this project releases its hold. Any future
-- retention job must keep everything this view returns.
CREATE VIEW public.held_messages AS
WITH custodian_sessions AS (
  SELECT c.matter_id, c.identifier AS custodian, v.session_id
  FROM archive.legal_hold_custodians c
  JOIN archive.message_versions v ON lower(v.sender) = lower(c.email)
  UNION
  SELECT c.matter_id, c.identifier, v.session_id
  FROM archive.legal_hold_custodians c
  JOIN archive.message_versions v ON lower(v.receiver) = lower(c.email)
  UNION
  SELECT c.matter_id, c.identifier, s.session_id
  FROM archive.legal_hold_custodians c
  JOIN archive.sessions s ON EXISTS (SELECT 1 FROM unnest(s.member_emails) AS e WHERE lower(e) = lower(c.email))
)
SELECT
  m.matter_id,
  m.matter_name,
  m.state AS matter_state,
  cs.custodian,
  v.*
FROM archive.legal_hold_matters m
JOIN custodian_sessions cs ON cs.matter_id = m.matter_id
JOIN public.chat_message_versions v ON v.session_id = cs.session_id
WHERE m.state IN ('active', 'deleted_in_zoom')
  AND coalesce(v.sent_at, v.action_at) >= (coalesce(m.start_date, m.creation_date, '-infinity'::date)::timestamp AT TIME ZONE 'UTC')
  AND (m.end_date IS NULL OR coalesce(v.sent_at, v.action_at) < ((m.end_date + 1)::timestamp AT TIME ZONE 'UTC'));
--> statement-breakpoint

-- ---------------------------------------------------------------------------------------------
-- Legal-hold views, triggers and functions (matters, custodians, files) go below this line.
