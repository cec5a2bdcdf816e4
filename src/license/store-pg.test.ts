import { licenseServerSuite } from './conformance.ts';
import { openPgDb } from './store-pg.ts';

const url = process.env.ENCLAVE_NN_TEST_PG;
licenseServerSuite('license server on PostgreSQL', () => openPgDb(url!), url ? false : 'needs ENCLAVE_NN_TEST_PG=postgres://… (scripts/with-postgres.sh starts one)');
