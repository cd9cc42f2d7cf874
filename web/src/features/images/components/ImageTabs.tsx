import { Link } from '../../../components/Link.js';

export function ImageTabs({ current }: { current: 'catalog' | 'local' }) {
  return (
    <nav className="tabs" aria-label="image library">
      <Link href="/images" aria-current={current === 'catalog' ? 'page' : undefined}>
        Catalog
      </Link>
      <Link href="/images/local" aria-current={current === 'local' ? 'page' : undefined}>
        Local
      </Link>
    </nav>
  );
}
