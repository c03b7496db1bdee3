// The SDK's own test helper, so that the e2e tests and the client's unit tests check a rejection
// the same way (isChorusError tells a Chorus error by its brand, whichever copy of the SDK made it).
export { rejection } from '../../packages/client/src/testing/rejection.js';
