import { licenseServerSuite } from './conformance.ts';
import { openPgliteDb } from './store-pglite.ts';

licenseServerSuite('license server on PGlite (embedded)', () => openPgliteDb(), false);
