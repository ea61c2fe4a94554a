import type { ReactNode } from 'react';

export function EmptyNotice({ title, detail, children, testId }: { title: string; detail: string; children?: ReactNode; testId?: string }) {
  return (
    <div className="empty-notice" role="note" data-testid={testId}>
      <div className="empty-title">{title}</div>
      <div className="empty-detail">{detail}</div>
      {children}
    </div>
  );
}
