{#- The event contract (events.md) as one expression over the columns of stg_raw__events:
    the first rejection reason that applies, in the contract's order, or NULL for a valid
    record. Choices where the contract is silent are listed in int_events__validated's YAML. -#}
{% macro rejection_reason() -%}
    {#- Bounds the contract leaves open: a duration over 1e9 s (31 years) is no measurement and
        would overflow the gold models' exact sums; attempt_number must fit a 32-bit integer. -#}
    {%- set max_seconds = 1000000000 -%}
    case
        when not is_json_object then 'malformed_json'
        when
            coalesce(event_id_kind, 'null') != 'string'
            or {{ is_blank('event_id') }}
            or length(event_id) > 64
            then 'missing_event_id'
        when student_hash is null then 'missing_student_id'
        when
            coalesce(event_type_kind, 'null') = 'null'
            or (event_type_kind = 'string' and {{ is_blank('event_type_sent') }})
            then 'missing_event_type'
        when event_type is null then 'unknown_event_type'
        when
            coalesce(timestamp_kind, 'null') = 'null'
            or (timestamp_kind = 'string' and {{ is_blank('timestamp_sent') }})
            then 'missing_timestamp'
        when timestamp_kind != 'string' or ts is null then 'bad_timestamp'
        when
            ts < cast('2000-01-01 00:00:00+00:00' as {{ type_timestamp_tz() }})
            or ts > {{ dbt.dateadd('hour', project_var('max_future_hours'), 'loaded_at') }}
            then 'timestamp_out_of_range'
        when
            event_type = 'quiz_attempt' and {{ is_blank("coalesce(question_id, '')") }}
            then 'missing_question_id'
        when
            event_type = 'quiz_attempt'
            and (
                coalesce(quiz_id_kind, 'null') = 'null'
                or (quiz_id_kind = 'string' and {{ is_blank('quiz_id') }})
            )
            then 'missing_quiz_id'
        when
            coalesce(metadata_kind, 'null') not in ('null', 'object')
            or (
                event_type = 'page_view' and (
                    coalesce(scroll_depth_kind, 'null') not in ('null', 'number')
                    or scroll_depth_sent < 0
                    or scroll_depth_sent > 100
                    or coalesce(duration_seconds_kind, 'null') not in ('null', 'number')
                    or duration_seconds < 0
                    or duration_seconds > {{ max_seconds }}
                )
            )
            or (
                event_type in {{ video_event_types() }} and (
                    coalesce(video_id_kind, 'null') not in ('null', 'string')
                    or coalesce(watched_seconds_kind, 'null') not in ('null', 'number')
                    or watched_seconds < 0
                    or watched_seconds > {{ max_seconds }}
                    or coalesce(video_duration_seconds_kind, 'null') not in ('null', 'number')
                    or video_duration_seconds <= 0
                    or video_duration_seconds > {{ max_seconds }}
                    or coalesce(position_seconds_kind, 'null') not in ('null', 'number')
                    or position_seconds < 0
                    or position_seconds > {{ max_seconds }}
                )
            )
            or (
                event_type = 'quiz_attempt' and (
                    quiz_id_kind != 'string'
                    or coalesce(is_correct_kind, 'null') not in ('null', 'boolean')
                    or coalesce(time_spent_seconds_kind, 'null') not in ('null', 'number')
                    or time_spent_seconds < 0
                    or time_spent_seconds > {{ max_seconds }}
                    or coalesce(attempt_number_kind, 'null') not in ('null', 'number')
                    or attempt_number < 1
                    or attempt_number > 2147483647
                    or attempt_number != floor(attempt_number)
                )
            )
            or (
                event_type = 'submit_assignment' and (
                    coalesce(assignment_id_kind, 'null') not in ('null', 'string')
                    or coalesce(on_time_kind, 'null') not in ('null', 'boolean')
                )
            )
            then 'bad_metadata'
    end
{%- endmacro %}
