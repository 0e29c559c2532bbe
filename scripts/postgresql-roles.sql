-- Ancrage on PostgreSQL: a role that owns the tables, and an application role that only reads and
-- writes rows. The application then cannot disable the append-only triggers of the audit trail and
-- of the dossiers' history (ALTER TABLE … DISABLE TRIGGER needs the table's owner), nor TRUNCATE,
-- nor change the schema. See docs/exploitation.md, « Rôles PostgreSQL ».
--
-- Run as a superuser, connected to Ancrage's database, before or after the first `migrate`
-- (idempotent: run it again after a migration, it also re-applies the grants below):
--
--   psql -v ON_ERROR_STOP=1 -v owner=ancrage_owner -v app=ancrage_app -d ancrage \
--        -f scripts/postgresql-roles.sql
--
-- Then give both roles a password (\password ancrage_app) or another authentication, and use:
--   - the owner role for `ancrage migrate` and `ancrage restauration` (they create tables and
--     reset sequences);
--   - the application role for everything else (gunicorn, the daily commands).

\set ON_ERROR_STOP on

-- The two roles, created once. Neither is superuser, and neither inherits the other's rights.
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT', :'owner')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT', :'app')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app') \gexec

-- The owner role owns the database, its schema and, if it was migrated already as someone else,
-- every table (their identity sequences follow) and the trigger function.
SELECT format('ALTER DATABASE %I OWNER TO %I', current_database(), :'owner') \gexec
ALTER SCHEMA public OWNER TO :"owner";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app";
SELECT format('ALTER TABLE public.%I OWNER TO %I', tablename, :'owner')
FROM pg_tables WHERE schemaname = 'public' \gexec
SELECT format('ALTER FUNCTION public.%I() OWNER TO %I', proname, :'owner')
FROM pg_proc WHERE proname = 'ancrage_refuse_change' AND pronamespace = 'public'::regnamespace \gexec

-- The application role: rows only (no TRUNCATE, TRIGGER, REFERENCES), on today's tables and on
-- those the owner role creates in later migrations.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM :"app";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO :"app";

-- The append-only tables: their triggers refuse UPDATE and DELETE; the grants refuse them too
-- (the trail's anchor row is updated, never deleted).
SELECT format('REVOKE UPDATE, DELETE ON public.%I FROM %I', tablename, :'app')
FROM pg_tables WHERE schemaname = 'public'
  AND tablename IN ('audit_auditentry', 'dossiers_traitement') \gexec
SELECT format('REVOKE DELETE ON public.%I FROM %I', tablename, :'app')
FROM pg_tables WHERE schemaname = 'public' AND tablename = 'audit_audittrailanchor' \gexec
