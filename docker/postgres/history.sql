-- The commitments' public history: its service may read it and append to it, nothing more.
-- docker/postgres/init.sh runs this after init.sql for the commitments service only
-- (psql variable `service`), as the superuser, on the first start.
--
-- A role that owns a table, or the schema it is in, can drop its triggers, grant itself
-- UPDATE again or drop the table. So the schema passes to a keeper role nobody logs in as
-- (the service keeps USAGE and CREATE: its migrations still make and own its other
-- tables), and the migration that adds the history's triggers calls seal_history(), which
-- gives the history table to the keeper and leaves the service SELECT and INSERT on it.
-- Changing that table's structure later takes the superuser.
\connect :"service"
\set keeper :service '_history'
CREATE ROLE :"keeper" NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
ALTER SCHEMA public OWNER TO :"keeper";
GRANT USAGE, CREATE ON SCHEMA public TO :"service";

-- Runs with the superuser's rights on behalf of the service's role (the session's user),
-- the only role allowed to call it; it takes no input.
CREATE FUNCTION public.seal_history() RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  EXECUTE format('ALTER TABLE public.history OWNER TO %I', session_user || '_history');
  EXECUTE format('REVOKE ALL ON public.history FROM %I', session_user);
  EXECUTE format('GRANT SELECT, INSERT ON public.history TO %I', session_user);
END $$;
REVOKE ALL ON FUNCTION public.seal_history() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.seal_history() TO :"service";
