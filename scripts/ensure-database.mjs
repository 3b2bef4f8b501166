// Creates the database named in DATABASE_URL when it does not exist yet (Prisma's migrate deploy does not).
import pg from "pg";

const url = new URL(process.env.DATABASE_URL);
const name = decodeURIComponent(url.pathname.slice(1));
const admin = new URL(url);
admin.pathname = "/postgres";
const client = new pg.Client({ connectionString: admin.toString() });
try {
  await client.connect();
} catch (error) {
  console.error(`Cannot reach Postgres at ${url.host}: ${error.message}. Is it running? (see docs/configuration.md)`);
  process.exit(1);
}
const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [name]);
if (rowCount === 0) {
  await client.query(`create database "${name.replaceAll('"', '""')}"`);
  console.log(`Created database ${name}`);
}
await client.end();
