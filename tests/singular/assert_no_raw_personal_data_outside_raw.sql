-- Privacy (metrics.md): raw student ids and IPs appear only in the raw schema. Rejected
-- records keep their text, so check that the masking left no value behind.
select
    source_file,
    line_number
from {{ ref('events_rejected') }}
where
    {{ regex_full_match('raw_line_redacted', '.*"(student_id|ip)"[[:space:]]*:[[:space:]]*("[^<]|[0-9]).*') }}
