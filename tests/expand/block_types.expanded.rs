use durable::{activity, orchestrator, ActivityError, OrchestrationContext};
#[allow(non_camel_case_types)]
struct price {}
#[automatically_derived]
#[doc(hidden)]
#[allow(non_camel_case_types)]
unsafe impl ::core::clone::TrivialClone for price {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::clone::Clone for price {
    #[inline]
    fn clone(&self) -> price {
        *self
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::marker::Copy for price {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::fmt::Debug for price {
    #[inline]
    fn fmt(&self, f: &mut ::core::fmt::Formatter) -> ::core::fmt::Result {
        ::core::fmt::Formatter::write_str(f, "price")
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::default::Default for price {
    #[inline]
    fn default() -> price {
        price {}
    }
}
///Names activity `price`: pass it to `ctx.call` and `.activity(..)`.
fn price() -> price {
    price {}
}
impl price {
    ///Runs the body of activity `price` directly, outside any orchestration.
    async fn run(x: u64) -> Result<u64, ActivityError> {
        Ok(x * 3)
    }
}
impl ::durable::Activity for price {
    type Input = u64;
    type Output = <Result<u64, ActivityError> as ::durable::__private::Outcome>::Ok;
    type Error = <Result<u64, ActivityError> as ::durable::__private::Outcome>::Err;
    const NAME: &'static str = "price";
    fn execute(
        ctx: ::durable::ActivityContext,
        input: Self::Input,
    ) -> impl ::core::future::Future<
        Output = ::core::result::Result<
            <Self as ::durable::Activity>::Output,
            <Self as ::durable::Activity>::Error,
        >,
    > + ::core::marker::Send {
        let _ = ctx;
        Self::run(input)
    }
}
#[allow(non_camel_case_types)]
struct totals {}
#[automatically_derived]
#[doc(hidden)]
#[allow(non_camel_case_types)]
unsafe impl ::core::clone::TrivialClone for totals {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::clone::Clone for totals {
    #[inline]
    fn clone(&self) -> totals {
        *self
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::marker::Copy for totals {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::fmt::Debug for totals {
    #[inline]
    fn fmt(&self, f: &mut ::core::fmt::Formatter) -> ::core::fmt::Result {
        ::core::fmt::Formatter::write_str(f, "totals")
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::default::Default for totals {
    #[inline]
    fn default() -> totals {
        totals {}
    }
}
///Names orchestration `totals`: pass it to `.orchestration(..)`, `client.start` and `ctx.sub_orchestration`.
fn totals() -> totals {
    totals {}
}
impl ::durable::Orchestration for totals {
    type Input = u64;
    type Output = <Result<u64, ActivityError> as ::durable::__private::Outcome>::Ok;
    const NAME: &'static str = "totals";
    const VERSION: u32 = 1u32;
    const MIGRATES_FROM: &'static [u32] = &[];
    fn step(
        ctx: &::durable::OrchestrationContext,
        input: ::durable::StepInput<'_>,
    ) -> ::core::result::Result<::durable::Step, ::durable::StepError> {
        #[allow(unreachable_code, unused_mut, unused_braces, clippy::needless_return)]
        fn __machine(
            __ctx: &::durable::OrchestrationContext,
            __step: &mut ::durable::__private::StepIo<'_>,
        ) -> <Result<u64, ActivityError> as ::durable::__private::Outcome>::Machine {
            let ctx: OrchestrationContext = ::core::clone::Clone::clone(__ctx);
            #[allow(dead_code, unused_imports, non_camel_case_types, clippy::all)]
            pub(crate) mod __items_1 {
                use super::*;
                pub(crate) struct Line(pub(crate) u64);
                #[doc(hidden)]
                #[allow(
                    non_upper_case_globals,
                    unused_attributes,
                    unused_qualifications,
                    clippy::absolute_paths,
                )]
                const _: () = {
                    #[allow(unused_extern_crates, clippy::useless_attribute)]
                    extern crate serde as _serde;
                    #[automatically_derived]
                    impl _serde::Serialize for Line {
                        fn serialize<__S>(
                            &self,
                            __serializer: __S,
                        ) -> _serde::__private229::Result<__S::Ok, __S::Error>
                        where
                            __S: _serde::Serializer,
                        {
                            _serde::Serializer::serialize_newtype_struct(
                                __serializer,
                                "Line",
                                &self.0,
                            )
                        }
                    }
                };
                #[doc(hidden)]
                #[allow(
                    non_upper_case_globals,
                    unused_attributes,
                    unused_qualifications,
                    clippy::absolute_paths,
                )]
                const _: () = {
                    #[allow(unused_extern_crates, clippy::useless_attribute)]
                    extern crate serde as _serde;
                    #[automatically_derived]
                    impl<'de> _serde::Deserialize<'de> for Line {
                        fn deserialize<__D>(
                            __deserializer: __D,
                        ) -> _serde::__private229::Result<Self, __D::Error>
                        where
                            __D: _serde::Deserializer<'de>,
                        {
                            #[doc(hidden)]
                            struct __Visitor<'de> {
                                marker: _serde::__private229::PhantomData<Line>,
                                lifetime: _serde::__private229::PhantomData<&'de ()>,
                            }
                            #[automatically_derived]
                            impl<'de> _serde::de::Visitor<'de> for __Visitor<'de> {
                                type Value = Line;
                                fn expecting(
                                    &self,
                                    __formatter: &mut _serde::__private229::Formatter,
                                ) -> _serde::__private229::fmt::Result {
                                    _serde::__private229::Formatter::write_str(
                                        __formatter,
                                        "tuple struct Line",
                                    )
                                }
                                #[inline]
                                fn visit_newtype_struct<__E>(
                                    self,
                                    __e: __E,
                                ) -> _serde::__private229::Result<Self::Value, __E::Error>
                                where
                                    __E: _serde::Deserializer<'de>,
                                {
                                    let __field0: u64 = <u64 as _serde::Deserialize>::deserialize(
                                        __e,
                                    )?;
                                    _serde::__private229::Ok(Line(__field0))
                                }
                                #[inline]
                                fn visit_seq<__A>(
                                    self,
                                    mut __seq: __A,
                                ) -> _serde::__private229::Result<Self::Value, __A::Error>
                                where
                                    __A: _serde::de::SeqAccess<'de>,
                                {
                                    let __field0 = match _serde::de::SeqAccess::next_element::<
                                        u64,
                                    >(&mut __seq)? {
                                        _serde::__private229::Some(__value) => __value,
                                        _serde::__private229::None => {
                                            return _serde::__private229::Err(
                                                _serde::de::Error::invalid_length(
                                                    0usize,
                                                    &"tuple struct Line with 1 element",
                                                ),
                                            );
                                        }
                                    };
                                    _serde::__private229::Ok(Line(__field0))
                                }
                            }
                            _serde::Deserializer::deserialize_newtype_struct(
                                __deserializer,
                                "Line",
                                __Visitor {
                                    marker: _serde::__private229::PhantomData::<Line>,
                                    lifetime: _serde::__private229::PhantomData,
                                },
                            )
                        }
                    }
                };
            }
            #[allow(dead_code, unused_imports, non_camel_case_types, clippy::all)]
            pub(crate) mod __items_2 {
                use super::*;
                pub(crate) struct Line(pub(crate) u64, pub(crate) u64);
            }
            let mut __s_x = ::durable::__private::Slot::new();
            let mut __s_v_65d7b538 = ::durable::__private::Slot::new();
            let mut __s_line = ::durable::__private::Slot::new();
            let mut __s_first = ::durable::__private::Slot::new();
            let mut __s_v_9c5637be = ::durable::__private::Slot::new();
            let mut __w1 = ::durable::__private::Slot::new();
            let mut __w2 = ::durable::__private::Slot::new();
            static __P1: ::durable::__private::Point = ::durable::__private::Point::new(
                15930045897982003075u64,
                "../../../../tests/expand/block_types.rs",
                "ctx.call(price, line.0) at line 14:33",
                &["x", "line"],
            );
            static __P2: ::durable::__private::Point = ::durable::__private::Point::new(
                12935857299375789125u64,
                "../../../../tests/expand/block_types.rs",
                "ctx.call(price, line.0 + line.1) at line 19:42",
                &["first"],
            );
            let mut __pc: u32 = match __step.point() {
                ::core::option::Option::None => 0u32,
                ::core::option::Option::Some(15930045897982003075u64) => 1u32,
                ::core::option::Option::Some(12935857299375789125u64) => 3u32,
                ::core::option::Option::Some(_) => {
                    return ::core::result::Result::Ok(
                        ::durable::__private::Flow::Fault(__step.unknown_point()),
                    );
                }
            };
            let mut __fault = ::core::option::Option::None;
            '__durable: loop {
                match __pc {
                    0u32 => {
                        let ::core::option::Option::Some(__input) = ::durable::__private::ok(
                            &mut __fault,
                            __step.input(),
                        ) else {
                            break '__durable;
                        };
                        let x: u64 = __input;
                        {
                            #[allow(unused_imports)]
                            use __items_1::*;
                            let line = Line(x);
                            {
                                let ::core::option::Option::Some(__scheduled) = ::durable::__private::ok(
                                    &mut __fault,
                                    ::durable::__private::schedule(
                                        __ctx,
                                        ctx.call(price, line.0),
                                    ),
                                ) else {
                                    break '__durable;
                                };
                                __w1.put(__scheduled);
                                __s_x.put(x);
                                __s_line.put(line);
                                return ::core::result::Result::Ok(
                                    __step
                                        .suspend(
                                            &__P1,
                                            &__w1,
                                            &mut [
                                                ::durable::__private::persist(&mut __s_x),
                                                ::durable::__private::persist(&mut __s_line),
                                            ],
                                        ),
                                );
                            }
                        }
                    }
                    1u32 => {
                        #[allow(unused_imports)]
                        use __items_1::*;
                        let ::core::option::Option::Some(__resumed) = ::durable::__private::ok(
                            &mut __fault,
                            __step
                                .resume(
                                    __ctx,
                                    &__P1,
                                    &mut __w1,
                                    &mut [
                                        ::durable::__private::persist(&mut __s_x),
                                        ::durable::__private::persist(&mut __s_line),
                                    ],
                                ),
                        ) else {
                            break '__durable;
                        };
                        let __r_cee15a26 = match __resumed {
                            ::core::option::Option::Some(value) => value,
                            ::core::option::Option::None => {
                                return ::core::result::Result::Ok(
                                    __step
                                        .suspend(
                                            &__P1,
                                            &__w1,
                                            &mut [
                                                ::durable::__private::persist(&mut __s_x),
                                                ::durable::__private::persist(&mut __s_line),
                                            ],
                                        ),
                                );
                            }
                        };
                        let line = __s_line.take();
                        let __v_65d7b538;
                        __v_65d7b538 = __r_cee15a26? + line.0;
                        {
                            __s_v_65d7b538.put(__v_65d7b538);
                            __pc = 2u32;
                            continue '__durable;
                        }
                    }
                    2u32 => {
                        let __v_65d7b538 = __s_v_65d7b538.take();
                        let x = __s_x.take();
                        let first = __v_65d7b538;
                        {
                            #[allow(unused_imports)]
                            use __items_2::*;
                            let line = Line(x, 1);
                            {
                                let ::core::option::Option::Some(__scheduled) = ::durable::__private::ok(
                                    &mut __fault,
                                    ::durable::__private::schedule(
                                        __ctx,
                                        ctx.call(price, line.0 + line.1),
                                    ),
                                ) else {
                                    break '__durable;
                                };
                                __w2.put(__scheduled);
                                __s_first.put(first);
                                return ::core::result::Result::Ok(
                                    __step
                                        .suspend(
                                            &__P2,
                                            &__w2,
                                            &mut [::durable::__private::persist(&mut __s_first)],
                                        ),
                                );
                            }
                        }
                    }
                    3u32 => {
                        #[allow(unused_imports)]
                        use __items_2::*;
                        let ::core::option::Option::Some(__resumed) = ::durable::__private::ok(
                            &mut __fault,
                            __step
                                .resume(
                                    __ctx,
                                    &__P2,
                                    &mut __w2,
                                    &mut [::durable::__private::persist(&mut __s_first)],
                                ),
                        ) else {
                            break '__durable;
                        };
                        let __r_8c2e1aa6 = match __resumed {
                            ::core::option::Option::Some(value) => value,
                            ::core::option::Option::None => {
                                return ::core::result::Result::Ok(
                                    __step
                                        .suspend(
                                            &__P2,
                                            &__w2,
                                            &mut [::durable::__private::persist(&mut __s_first)],
                                        ),
                                );
                            }
                        };
                        let __v_9c5637be;
                        __v_9c5637be = __r_8c2e1aa6?;
                        {
                            __s_v_9c5637be.put(__v_9c5637be);
                            __pc = 4u32;
                            continue '__durable;
                        }
                    }
                    4u32 => {
                        let __v_9c5637be = __s_v_9c5637be.take();
                        let first = __s_first.take();
                        let second = __v_9c5637be;
                        return ::durable::__private::done(Ok(first + second));
                    }
                    _ => break '__durable,
                }
            }
            __step.fault(__fault)
        }
        ::durable::__private::drive::<Self, _>(ctx, input, __machine)
    }
}
fn main() {}
