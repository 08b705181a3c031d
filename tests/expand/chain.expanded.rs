use durable::{activity, orchestrator, ActivityError, OrchestrationContext};
#[allow(non_camel_case_types)]
struct add_one {}
#[automatically_derived]
#[doc(hidden)]
#[allow(non_camel_case_types)]
unsafe impl ::core::clone::TrivialClone for add_one {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::clone::Clone for add_one {
    #[inline]
    fn clone(&self) -> add_one {
        *self
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::marker::Copy for add_one {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::fmt::Debug for add_one {
    #[inline]
    fn fmt(&self, f: &mut ::core::fmt::Formatter) -> ::core::fmt::Result {
        ::core::fmt::Formatter::write_str(f, "add_one")
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::default::Default for add_one {
    #[inline]
    fn default() -> add_one {
        add_one {}
    }
}
///Names activity `add_one`: pass it to `ctx.call` and `.activity(..)`.
fn add_one() -> add_one {
    add_one {}
}
impl add_one {
    ///Runs the body of activity `add_one` directly, outside any orchestration.
    async fn run(x: u64) -> Result<u64, ActivityError> {
        Ok(x + 1)
    }
}
impl ::durable::Activity for add_one {
    type Input = u64;
    type Output = <Result<u64, ActivityError> as ::durable::__private::Outcome>::Ok;
    type Error = <Result<u64, ActivityError> as ::durable::__private::Outcome>::Err;
    const NAME: &'static str = "add_one";
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
struct chain {}
#[automatically_derived]
#[doc(hidden)]
#[allow(non_camel_case_types)]
unsafe impl ::core::clone::TrivialClone for chain {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::clone::Clone for chain {
    #[inline]
    fn clone(&self) -> chain {
        *self
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::marker::Copy for chain {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::fmt::Debug for chain {
    #[inline]
    fn fmt(&self, f: &mut ::core::fmt::Formatter) -> ::core::fmt::Result {
        ::core::fmt::Formatter::write_str(f, "chain")
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::default::Default for chain {
    #[inline]
    fn default() -> chain {
        chain {}
    }
}
///Names orchestration `chain`: pass it to `.orchestration(..)`, `client.start` and `ctx.sub_orchestration`.
fn chain() -> chain {
    chain {}
}
impl ::durable::Orchestration for chain {
    type Input = u64;
    type Output = <Result<u64, ActivityError> as ::durable::__private::Outcome>::Ok;
    const NAME: &'static str = "chain";
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
            let mut __s_total = ::durable::__private::Slot::new();
            let mut __s_iter_dd1d62a9 = ::durable::__private::Slot::new();
            let mut __w1 = ::durable::__private::Slot::new();
            static __P1: ::durable::__private::Point = ::durable::__private::Point::new(
                9856025136344238846u64,
                "../../../../tests/expand/chain.rs",
                "ctx.call(add_one, i) at line 12:39",
                &["total", "__iter_dd1d62a9"],
            );
            let mut __pc: u32 = match __step.point() {
                ::core::option::Option::None => 0u32,
                ::core::option::Option::Some(9856025136344238846u64) => 2u32,
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
                        let n: u64 = __input;
                        let mut total = 0;
                        let mut __iter_dd1d62a9 = {
                            #[allow(unused_imports)]
                            use ::durable::__private::iter::{
                                CollectKind as _, LazyKind as _,
                            };
                            match ::durable::__private::iter::IterKind(
                                ::core::iter::IntoIterator::into_iter(0..n),
                            ) {
                                kind => {
                                    #[allow(clippy::needless_borrow)]
                                    let tag = (&&kind).durable_iter_kind();
                                    tag.saved(kind.0)
                                }
                            }
                        };
                        let ::core::option::Option::Some(()) = ::durable::__private::ok(
                            &mut __fault,
                            ::durable::__private::iter::started(&__iter_dd1d62a9),
                        ) else {
                            break '__durable;
                        };
                        {
                            __s_total.put(total);
                            __s_iter_dd1d62a9.put(__iter_dd1d62a9);
                            __pc = 1u32;
                            continue '__durable;
                        }
                    }
                    1u32 => {
                        let mut __iter_dd1d62a9 = __s_iter_dd1d62a9.take();
                        let ::core::option::Option::Some(__next) = ::durable::__private::ok(
                            &mut __fault,
                            ::durable::__private::iter::next(&mut __iter_dd1d62a9, __ctx),
                        ) else {
                            break '__durable;
                        };
                        match __next {
                            ::core::option::Option::Some(i) => {
                                let ::core::option::Option::Some(__scheduled) = ::durable::__private::ok(
                                    &mut __fault,
                                    ::durable::__private::schedule(__ctx, ctx.call(add_one, i)),
                                ) else {
                                    break '__durable;
                                };
                                __w1.put(__scheduled);
                                let ::core::option::Option::Some(()) = ::durable::__private::ok(
                                    &mut __fault,
                                    ::durable::__private::iter::park(
                                        &mut __iter_dd1d62a9,
                                        __ctx,
                                    ),
                                ) else {
                                    break '__durable;
                                };
                                __s_iter_dd1d62a9.put(__iter_dd1d62a9);
                                return ::core::result::Result::Ok(
                                    __step
                                        .suspend(
                                            &__P1,
                                            &__w1,
                                            &mut [
                                                ::durable::__private::persist(&mut __s_total),
                                                ::durable::__private::persist(&mut __s_iter_dd1d62a9),
                                            ],
                                        ),
                                );
                            }
                            ::core::option::Option::None => {
                                __pc = 3u32;
                                continue '__durable;
                            }
                        }
                    }
                    2u32 => {
                        let ::core::option::Option::Some(__resumed) = ::durable::__private::ok(
                            &mut __fault,
                            __step
                                .resume(
                                    __ctx,
                                    &__P1,
                                    &mut __w1,
                                    &mut [
                                        ::durable::__private::persist(&mut __s_total),
                                        ::durable::__private::persist(&mut __s_iter_dd1d62a9),
                                    ],
                                ),
                        ) else {
                            break '__durable;
                        };
                        let __r_ad5b6325 = match __resumed {
                            ::core::option::Option::Some(value) => value,
                            ::core::option::Option::None => {
                                return ::core::result::Result::Ok(
                                    __step
                                        .suspend(
                                            &__P1,
                                            &__w1,
                                            &mut [
                                                ::durable::__private::persist(&mut __s_total),
                                                ::durable::__private::persist(&mut __s_iter_dd1d62a9),
                                            ],
                                        ),
                                );
                            }
                        };
                        let mut total = __s_total.take();
                        total += __r_ad5b6325?;
                        {
                            __s_total.put(total);
                            __pc = 1u32;
                            continue '__durable;
                        }
                    }
                    3u32 => {
                        let mut total = __s_total.take();
                        return ::durable::__private::done(Ok(total));
                    }
                    _ => break '__durable,
                }
            }
            __step.fault(__fault)
        }
        ::durable::__private::drive::<Self, _>(ctx, input, __machine)
    }
}
