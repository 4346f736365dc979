-- crmkit schema, version 7: what comes back (crm-track).

-- Opens and clicks that a machine made rather than a person: a privacy
-- proxy fetching every image (Apple Mail Privacy Protection), a link
-- scanner following every link (Microsoft Safe Links, Mimecast,
-- Barracuda). NULL is a person (or nothing says otherwise); else why it
-- is taken for a machine ("ua:NAME", "ip:NAME", "head", "fast",
-- "every-link"). opened(), clicked() and the reports count people.
ALTER TABLE events ADD COLUMN machine TEXT;

-- a provider's callback names its own message id (Twilio's MessageSid,
-- SendGrid's sg_message_id): the outbox row is found by provider_id
CREATE INDEX messages_provider ON messages(provider_id) WHERE provider_id IS NOT NULL;
