import { memoryLogger } from '../helpers/logger.js';

/*
 * The allow-list error serializer on its own: an HTTP client error as the Agents SDK, axios or the
 * Slack Web API throw it carries the request (body, headers, config); only type, message, status,
 * url without query, code and stack may reach the log. The end-to-end proof (a Bot Connector 403
 * at onboarding) is in agent-keys.e2e.test.ts.
 */
describe('errors in the log', () => {
  it('keep type, message, status, url without its query, code and stack; never the request body, headers or config', () => {
    const { log, lines } = memoryLogger();
    const err = Object.assign(new Error('Request failed with status 403'), {
      name: 'HttpError',
      status: 403,
      code: 'ERR_BAD_REQUEST',
      config: {
        url: 'https://smba.trafficmanager.net/teams/v3/conversations/a:1/activities?token=query-secret-123',
        data: '{"text":"Telemetry key: rst_0123abcd_SECRETSECRETSECRETSECRET"}',
        headers: { Authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.payload.signature' },
      },
      response: { status: 403, data: { echoed: 'rst_0123abcd_SECRETSECRETSECRETSECRET' } },
      request: { body: 'xoxb-1234567890-secret' },
      cause: Object.assign(new Error('upstream said Bearer abcdefghijklmnop and rst_ffff0000_LEAKLEAKLEAKLEAK'), { code: 'EPROTO' }),
    });
    log.error({ err }, 'a send failed');
    const [line] = lines();
    expect(line!.err).toEqual({
      type: 'HttpError',
      message: 'Request failed with status 403',
      stack: expect.stringContaining('HttpError: Request failed with status 403'),
      status: 403,
      code: 'ERR_BAD_REQUEST',
      url: 'https://smba.trafficmanager.net/teams/v3/conversations/a:1/activities',
      cause: {
        type: 'Error',
        message: 'upstream said Bearer [redacted] and [redacted]',
        stack: expect.any(String),
        code: 'EPROTO',
      },
    });
    const text = JSON.stringify(line);
    for (const secret of ['SECRETSECRET', 'eyJhbGci', 'query-secret', 'xoxb-', 'LEAKLEAK', 'abcdefghijklmnop'])
      expect(text).not.toContain(secret);
  });

  it('a thrown non-error value is logged as text, scrubbed', () => {
    const { log, lines } = memoryLogger();
    log.warn({ err: 'token rst_00000000_ABCDEFGHIJKLMNOPQRST expired' }, 'odd failure');
    expect(lines()[0]!.err).toEqual({ type: 'string', message: 'token [redacted] expired' });
  });
});
