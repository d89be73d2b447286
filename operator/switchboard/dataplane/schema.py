"""The store's schema, as numbered migrations (docs/dataplane.md, "The store is the truth").

A migration is applied once, in order, in the transaction that records it; `store.migrate`
holds an advisory lock while it applies them, so replicas starting at once do not race.
Append new migrations; never edit one that has shipped.
"""

from __future__ import annotations

MIGRATION_LOCK = 0x5357_4243  # an advisory-lock key of our own ("SWBC")

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
CREATE TABLE conversations (
    id uuid PRIMARY KEY,
    channel text NOT NULL,
    channel_type text NOT NULL,
    customer text NOT NULL,
    state text NOT NULL
        CHECK (state IN ('bot', 'queued', 'offered', 'agent', 'resolved', 'abandoned')),
    track text NOT NULL,
    model_version text NOT NULL,
    admitted boolean NOT NULL DEFAULT false,
    next_seq integer NOT NULL DEFAULT 0,
    bot_cursor integer NOT NULL DEFAULT 0,
    failed_turns integer NOT NULL DEFAULT 0,
    last_intent text,
    handoff_reason text,
    agent_id text,
    declined_by text,
    attributes jsonb NOT NULL DEFAULT '{}',
    webhook text,
    created_at timestamptz NOT NULL DEFAULT now(),
    admitted_at timestamptz,
    bot_answered_at timestamptz,
    queued_at timestamptz,
    offered_at timestamptz,
    offer_expires_at timestamptz,
    accepted_at timestamptz,
    ended_at timestamptz
);
CREATE INDEX conversations_waiting ON conversations (queued_at) WHERE state = 'queued';
CREATE INDEX conversations_offers ON conversations (offer_expires_at) WHERE state = 'offered';
CREATE INDEX conversations_bot_slots ON conversations (track) WHERE state = 'bot' AND admitted;
CREATE INDEX conversations_agents ON conversations (agent_id) WHERE state IN ('offered', 'agent');

CREATE TABLE messages (
    conversation_id uuid NOT NULL REFERENCES conversations (id),
    seq integer NOT NULL,
    id uuid NOT NULL UNIQUE,
    sender text NOT NULL CHECK (sender IN ('customer', 'bot', 'agent', 'system')),
    author text,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, seq)
);

CREATE TABLE events (
    id bigserial PRIMARY KEY,
    conversation_id uuid NOT NULL,
    type text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    actor text,
    data jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX events_conversation ON events (conversation_id, id);

CREATE TABLE agents (
    id text PRIMARY KEY,
    display_name text NOT NULL,
    available boolean NOT NULL DEFAULT false,
    capacity jsonb NOT NULL DEFAULT '{}',
    idle_since timestamptz NOT NULL DEFAULT now(),
    seen_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE bot_replicas (
    replica text PRIMARY KEY,
    track text NOT NULL,
    concurrency integer NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now()
);

-- One round trip per stored message: the next seq of an open conversation, or the seq a
-- message of that id already has (a resend). `inserted` says which; no row: no such open
-- conversation.
CREATE FUNCTION switchboard_add_message(
    p_conversation uuid, p_id uuid, p_sender text, p_author text, p_body text
) RETURNS TABLE (
    seq integer, state text, admitted boolean, inserted boolean, created_at timestamptz
)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
        SELECT m.seq, c.state, c.admitted, false, m.created_at
        FROM messages m JOIN conversations c ON c.id = m.conversation_id
        WHERE m.id = p_id AND m.conversation_id = p_conversation;
    IF FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
        WITH next AS (
            UPDATE conversations c SET next_seq = c.next_seq + 1
            WHERE c.id = p_conversation
                AND c.state IN ('bot', 'queued', 'offered', 'agent')
            RETURNING c.id, c.next_seq, c.state, c.admitted
        ), stored AS (
            INSERT INTO messages (conversation_id, seq, id, sender, author, body)
            SELECT next.id, next.next_seq, p_id, p_sender, p_author, p_body FROM next
            RETURNING messages.seq, messages.created_at
        )
        SELECT stored.seq, next.state, next.admitted, true, stored.created_at
        FROM stored, next;
END
$$;
""",
    ),
    (
        2,
        """
-- The gateway: when a webchat customer was last seen connected, refreshed while they are, so
-- one gone longer than the disconnect grace leaves, whichever gateway replica held them.
ALTER TABLE conversations ADD COLUMN customer_seen_at timestamptz;
CREATE INDEX conversations_customer_seen ON conversations (channel, customer_seen_at)
    WHERE state IN ('bot', 'queued', 'offered', 'agent') AND customer_seen_at IS NOT NULL;
""",
    ),
    (
        3,
        """
-- The bot: what it keeps of a conversation between customer messages besides its failed
-- turns, so a redelivered message or another replica decides as it would have: the sentiment
-- of the customer's last message, and the clarification under way (the intent a "did you
-- mean" asked about).
ALTER TABLE conversations
    ADD COLUMN last_sentiment double precision
        CHECK (last_sentiment BETWEEN -1 AND 1),
    ADD COLUMN clarification text CHECK (clarification IN ('confirm', 'rephrase')),
    ADD COLUMN clarification_intent text;
""",
    ),
    (
        4,
        """
-- The bot's answer to one customer message, in one round trip: a compare-and-set on the
-- conversation (still with the bot, at the cursor the answer was decided on) that stores the
-- reply with the next seq, moves the cursor and what the bot keeps (migration 3), logs
-- `bot_answered` and, when the turn ends the bot's part, moves the conversation (p_state:
-- queued or resolved) and logs that step. No row: the conversation moved meanwhile; nothing
-- is stored.
CREATE FUNCTION switchboard_bot_turn(
    p_conversation uuid, p_cursor integer, p_seq integer,
    p_reply uuid, p_author text, p_body text,
    p_failed_turns integer, p_intent text,
    p_sentiment double precision, p_clarification text, p_clarification_intent text,
    p_actor text, p_answered jsonb,
    p_step text, p_state text, p_reason text, p_step_data jsonb
) RETURNS TABLE (reply_seq integer, reply_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_seq integer;
BEGIN
    UPDATE conversations c SET
        next_seq = c.next_seq + 1,
        bot_cursor = p_seq,
        failed_turns = p_failed_turns,
        last_intent = p_intent,
        last_sentiment = p_sentiment,
        clarification = p_clarification,
        clarification_intent = p_clarification_intent,
        bot_answered_at = coalesce(c.bot_answered_at, now()),
        state = coalesce(p_state, c.state),
        queued_at = CASE WHEN p_state = 'queued' THEN now() ELSE c.queued_at END,
        handoff_reason = coalesce(p_reason, c.handoff_reason),
        ended_at = CASE WHEN p_state = 'resolved' THEN now() ELSE c.ended_at END
    WHERE c.id = p_conversation AND c.state = 'bot' AND c.bot_cursor = p_cursor
    RETURNING c.next_seq INTO v_seq;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    INSERT INTO messages (conversation_id, seq, id, sender, author, body)
        VALUES (p_conversation, v_seq, p_reply, 'bot', p_author, p_body);
    INSERT INTO events (conversation_id, type, actor, data)
        VALUES (p_conversation, 'bot_answered', p_actor,
                p_answered || jsonb_build_object('reply', v_seq));
    IF p_step IS NOT NULL THEN
        INSERT INTO events (conversation_id, type, actor, data)
            VALUES (p_conversation, p_step, p_actor, p_step_data);
    END IF;
    RETURN QUERY SELECT v_seq, now();
END
$$;
""",
    ),
    (
        5,
        """
-- Retention (spec.dataProtection.retention): ended conversations found by when they ended,
-- and every run recorded, the first one a dry run that only reports.
CREATE INDEX conversations_ended ON conversations (ended_at)
    WHERE state IN ('resolved', 'abandoned');
CREATE TABLE retention_runs (
    id bigserial PRIMARY KEY,
    ran_at timestamptz NOT NULL DEFAULT now(),
    cutoff timestamptz NOT NULL,
    dry_run boolean NOT NULL,
    conversations bigint NOT NULL,
    messages bigint NOT NULL,
    events bigint NOT NULL
);
""",
    ),
    (
        6,
        """
-- Provider channels (sms, whatsapp, social): a customer has at most one open conversation per
-- channel, which their next message continues. The index finds it, and makes two first
-- messages of a customer racing each other start one conversation, not two.
CREATE UNIQUE INDEX conversations_provider_open ON conversations (channel, customer)
    WHERE state IN ('bot', 'queued', 'offered', 'agent')
        AND channel_type IN ('sms', 'whatsapp', 'social');
""",
    ),
    (
        7,
        """
-- Routing (spec.routing): the skills an agent declared at sign-in, with their levels, and when
-- they were last offered a conversation (the round-robin strategy's order).
ALTER TABLE agents
    ADD COLUMN skills jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN last_offered_at timestamptz;
""",
    ),
    (
        8,
        """
-- Email channels: the Message-ID of every mail of a conversation, the customer's and ours, so a
-- mail naming one in In-Reply-To or References continues the conversation and our replies are
-- threaded under theirs; `sent_at` records that the relay took our mail for a message, so it
-- is sent once. Purged with their messages.
CREATE TABLE mails (
    message_id uuid PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    mail_id text NOT NULL,
    subject text NOT NULL,
    received boolean NOT NULL,
    sent_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mails_mail_id ON mails (mail_id);
CREATE INDEX mails_conversation ON mails (conversation_id, created_at);
""",
    ),
    (
        9,
        """
-- Quality (first-contact resolution): a resolved conversation whose customer starts another, on
-- any channel, within the window was not resolved at first contact. `repeated_by` is the first
-- conversation that repeated it, so each is counted once; the index finds a customer's resolved
-- conversations not repeated yet by when they ended.
ALTER TABLE conversations ADD COLUMN repeated_by uuid;
CREATE INDEX conversations_unrepeated ON conversations (customer, ended_at)
    WHERE state = 'resolved' AND repeated_by IS NULL;
""",
    ),
    (
        10,
        """
-- Quality (the survey on resolve, spec.quality.survey): the question a resolved conversation's
-- customer was asked and has not answered yet, and the one to ask after it (NPS after CSAT);
-- the index finds a provider channel's customer's conversation waiting for their answer.
ALTER TABLE conversations
    ADD COLUMN survey text CHECK (survey IN ('csat', 'nps')),
    ADD COLUMN survey_followup text;
CREATE INDEX conversations_surveyed ON conversations (channel, customer, ended_at)
    WHERE survey IS NOT NULL;
""",
    ),
    (
        11,
        """
-- Until when the survey may be answered (spec.quality.survey.answerWithin after the resolve):
-- later, the question is closed. Surveys asked before this had no end: they get the default's.
ALTER TABLE conversations ADD COLUMN survey_until timestamptz;
UPDATE conversations SET survey_until = ended_at + interval '24 hours' WHERE survey IS NOT NULL;
""",
    ),
)
