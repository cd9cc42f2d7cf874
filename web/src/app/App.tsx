import { lazy, Suspense, useState } from 'react';
import { MutationCache, QueryCache, QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query';
import { ErrorBox } from '../components/ErrorBox.js';
import { Link } from '../components/Link.js';
import { ApiError, api } from '../lib/api.js';
import { matchRoute, usePath } from '../lib/router.js';
import { currentToken, forgetToken } from '../lib/session.js';
import { CatalogView } from '../features/images/components/CatalogView.js';
import { LocalView } from '../features/images/components/LocalView.js';
import { JobsView } from '../features/jobs/components/JobsView.js';
import { LabsView } from '../features/labs/components/LabsView.js';
import { NewLabWizard } from '../features/labs/components/NewLabWizard.js';
import { LoginHelp } from './LoginHelp.js';

// The topology graph and the consoles are most of the weight: loaded when a lab is opened.
const LabPage = lazy(() => import('./LabPage.js'));

function makeClient(onUnauthorized: () => void): QueryClient {
  const on401 = (e: unknown) => {
    if (e instanceof ApiError && e.status === 401) onUnauthorized();
  };
  return new QueryClient({
    queryCache: new QueryCache({ onError: on401 }),
    mutationCache: new MutationCache({ onError: on401 }),
    defaultOptions: {
      // A 4xx will not change by asking again; a dropped connection may.
      queries: {
        retry: (n, e) => !(e instanceof ApiError && e.status >= 400 && e.status < 500) && n < 2,
        refetchOnWindowFocus: true,
      },
    },
  });
}

export function App() {
  const [signedOut, setSignedOut] = useState(false);
  const [client] = useState(() =>
    makeClient(() => {
      forgetToken();
      setSignedOut(true);
    }),
  );
  if (signedOut) return <LoginHelp />;
  return (
    <QueryClientProvider client={client}>
      <Shell />
    </QueryClientProvider>
  );
}

const NAV = [
  ['/images', 'Images', (p: string) => p === '/' || p.startsWith('/images')],
  ['/jobs', 'Jobs', (p: string) => p.startsWith('/jobs')],
  ['/labs', 'Labs', (p: string) => p.startsWith('/labs')],
] as const;

function Shell() {
  const path = usePath();
  const route = matchRoute(path);
  // Asked first (a route that answers without the token): signed out shows the login help without a 401 in the console.
  const [hadToken] = useState(() => currentToken() !== null);
  const session = useQuery({
    queryKey: ['session'],
    queryFn: () => api<{ signed_in: boolean }>('/session'),
    staleTime: Infinity,
  });
  if (session.data?.signed_in === false) {
    forgetToken();
    return <LoginHelp wrongToken={hadToken} />;
  }
  if (session.isPending) return null;
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/images" className="brand">
          vmlab
        </Link>
        <nav aria-label="main">
          {NAV.map(([href, label, active]) => (
            <Link key={href} href={href} aria-current={active(path) ? 'page' : undefined}>
              {label}
            </Link>
          ))}
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {session.error ? <ErrorBox error={session.error} /> : null}
        {route.view === 'catalog' ? <CatalogView /> : null}
        {route.view === 'local' ? <LocalView /> : null}
        {route.view === 'jobs' ? <JobsView /> : null}
        {route.view === 'labs' ? <LabsView /> : null}
        {route.view === 'newLab' ? <NewLabWizard /> : null}
        {route.view === 'lab' ? (
          <Suspense fallback={<p className="muted">Loading…</p>}>
            <LabPage key={route.lab} name={route.lab} />
          </Suspense>
        ) : null}
        {route.view === 'notFound' ? (
          <section>
            <h2>No such page</h2>
            <p>
              <Link href="/images">Go to the image library</Link>
            </p>
          </section>
        ) : null}
      </main>
    </>
  );
}
