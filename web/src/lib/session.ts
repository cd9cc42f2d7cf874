/**
 * The API token of this tab. The login link carries it in the fragment
 * (`/#token=…`: browsers never send a fragment to a server); it is kept in
 * sessionStorage (this origin, this tab, until it closes) and sent as a
 * Bearer header. Not a cookie: a cookie for 127.0.0.1 goes to every port
 * of 127.0.0.1, so to any other local web service the browser opens. Not
 * localStorage: it would outlive the server, for whatever next listens on
 * this port.
 */
const KEY = 'vmlab_token';

function fromFragment(): string | undefined {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (token === null) return undefined;
  params.delete('token');
  const rest = params.toString();
  // Out of the address bar and the history at once.
  history.replaceState(history.state, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
  return token;
}

const given = fromFragment();
let token: string | null = given ?? null;
try {
  if (given) sessionStorage.setItem(KEY, given);
  token = sessionStorage.getItem(KEY);
} catch {
  // storage refused (a locked-down profile): the link's token for this page load only
}

export const currentToken = (): string | null => token;

/** The stored token was refused: forget it, so the login help shows. */
export function forgetToken(): void {
  token = null;
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing stored
  }
}

/** The Authorization header for a request, when signed in. */
export const authHeader = (): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});
