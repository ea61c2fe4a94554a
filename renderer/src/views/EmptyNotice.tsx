export function EmptyNotice({ title, detail }: { title: string; detail: string }) {
  return (
    <div className="empty-notice" role="note">
      <div className="empty-title">{title}</div>
      <div className="empty-detail">{detail}</div>
    </div>
  );
}
